// GigiCBOR module.
