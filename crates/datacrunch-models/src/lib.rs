//! Wire models of the DataCrunch (Verda) public API v1, shared by the client and the emulator.
