"""Expert matching for DCOL dossiers: hard filters, readable scores, and the optimal assignment of
a call's dossiers under the experts' capacities."""
