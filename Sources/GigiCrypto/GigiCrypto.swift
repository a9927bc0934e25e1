// GigiCrypto module.
