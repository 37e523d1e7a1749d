package adapters_test

func (f *fake) Attributes() []string { return nil }
