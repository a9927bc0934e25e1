// GigiNode module.
