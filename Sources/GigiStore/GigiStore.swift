// GigiStore module.
