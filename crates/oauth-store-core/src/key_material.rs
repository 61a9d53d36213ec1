//! Key material: secrets, passphrases and key rings. (Being written.)
