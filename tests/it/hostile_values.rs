//! Hostile API data never corrupts what is served: a fake Genesys API sends
//! duplicate-looking names, negative, huge and overflowing values to the real
//! exporter ([`api`]), and a property test feeds generated hostile JSON through
//! the decoders, the snapshots and the renderers ([`fuzz`]). Both check the
//! text with a strict text-format checker written from the format's rules
//! ([`text_format`]), independent of the exporter's code.

mod api;
mod fuzz;
mod text_format;
