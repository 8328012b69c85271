//! Live key checks: the provider's cheapest authenticated call. (Being written.)
