//! Geolocation of leads: IP addresses (bundled open data and MaxMind-format databases), reserved
//! ranges, network operators and phone numbers.
