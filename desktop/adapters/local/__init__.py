"""Apps that run on this computer, installed and launched by the repo's commands."""
