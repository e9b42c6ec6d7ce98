"""Dynamic number insertion: the public lease endpoint, the allocator that leases pool numbers, and visitor sessions."""
