// GigiFiles module.
