//! The Genesys Cloud API client (placeholder until the client lands).
