package adapters

// Attributes implements Adapter: retrying adds no attribute of its own.
func (r *retrying) Attributes() []string { return r.next.Attributes() }
