"""Video input: probing, frame-accurate decoding to raw planes, IVTC, dedup, scene cuts.

- :func:`probe` describes a stream (:class:`VideoInfo`, used by ``overmix info VIDEO``);
- :func:`open_video` opens it as a :class:`VideoSource` (a ``FrameSource``) with optional
  range, inverse telecine and duplicate removal;
- :func:`detect_cuts` / :func:`scenes_from_cuts` find scene changes in a frame stream.
"""

from overmix.video.decode import VideoInfo, VideoSource, open_video, probe
from overmix.video.scenes import Cut, Scene, detect_cuts, scenes_from_cuts

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
