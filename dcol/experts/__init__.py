"""The expert pool: profiles kept by CUF and by the experts themselves, and the experts' space
(the proposals addressed to them)."""
