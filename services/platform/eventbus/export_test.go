package eventbus

import "context"

// RunUntilCrash is Run, except that closing crash stops the consumer as a
// crash would: at once, with no final offset commit.
func (c *Consumer) RunUntilCrash(ctx context.Context, crash <-chan struct{}) error {
	return c.run(ctx, crash)
}
