//! The use cases that tie the domain, formats, geolocation, hashing and storage together.
