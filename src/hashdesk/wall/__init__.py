"""The wall: posts with #hashtags, replies, reactions and follows (docs/wall.md)."""
