"""The network as a file and on a device: checkpoints (save / load / export), the device and
precision choice, and where the default model is found."""
