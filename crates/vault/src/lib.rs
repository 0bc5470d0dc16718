//! The evidence vault: media stored content-addressed and encrypted at rest.
