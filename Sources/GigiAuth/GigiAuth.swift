// GigiAuth module.
