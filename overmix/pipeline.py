"""stitch(): source -> store -> align -> render -> restore -> output."""
