"""Video input: probing, frame-accurate decoding to raw planes, IVTC, dedup, scene cuts."""

from overmix.video.decode import VideoInfo, VideoSource, open_video, probe

__all__ = ["VideoInfo", "VideoSource", "open_video", "probe"]
