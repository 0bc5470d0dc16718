//! Perceptual hashing: PDQ for images, vPDQ for videos, and a Hamming-distance index.
