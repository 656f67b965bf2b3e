//! rlnkit
