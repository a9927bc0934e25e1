// GigiAuth: accounts. A BIP-39 mnemonic is the one secret; from it BIP-32
// (secp256k1) derives the identities of the original Gigi app:
//   m/44'/60'/0'/0/i  EVM address (Keccak-256, EIP-55 case)
//   m/44'/60'/1'/0/i  group id (child key as an Ed25519 seed → peer-ID string)
//   m/44'/60'/2'/0/i  libp2p identity (child key as an Ed25519 seed → peer ID)
// The keystore keeps the mnemonic encrypted (Argon2id + XChaCha20-Poly1305)
// next to the public facts, which are readable without the password.
//
// Specs: BIP-39, BIP-32, BIP-44, Keccak (FIPS 202 permutation, original
// padding), EIP-55, libp2p peer-id spec. Non-goals: wallets, signing
// transactions, other BIP-39 languages.
