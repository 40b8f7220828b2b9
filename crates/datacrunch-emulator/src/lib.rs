//! A faithful local emulator of the DataCrunch (Verda) public API v1, as a library and a binary.
