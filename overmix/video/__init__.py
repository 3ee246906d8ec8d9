"""Video input: probing, frame-accurate decoding to raw planes, IVTC, dedup, scene cuts.

Modules: ``pixfmt`` (reading each pixel format's planes), ``index`` (packet index: exact counts
and seek targets), ``probe`` (:class:`VideoInfo`), ``source`` (:class:`VideoSource`, the
frame-accurate decoder), ``ivtc``, ``dedup``, ``scenes``.

- :func:`probe` describes a stream (:class:`VideoInfo`, used by ``overmix info VIDEO``);
- :func:`open_video` opens it as a :class:`VideoSource` (a ``FrameSource``) with optional
  range, inverse telecine and duplicate removal;
- :func:`detect_cuts` / :func:`scenes_from_cuts` find scene changes in a frame stream.
"""

from overmix.video.probe import VideoInfo, probe
from overmix.video.scenes import Cut, Scene, detect_cuts, scenes_from_cuts
from overmix.video.source import VideoSource, open_video

__all__ = [
    "Cut",
    "Scene",
    "VideoInfo",
    "VideoSource",
    "detect_cuts",
    "open_video",
    "probe",
    "scenes_from_cuts",
]
