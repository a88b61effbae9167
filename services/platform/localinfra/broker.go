package localinfra

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is a single-node Kafka-compatible broker (franz-go's kfake)
// served in this process on 127.0.0.1. Any Kafka client (kafka-go,
// franz-go, ...) can use it; topics are created on first use.
type Broker struct {
	cluster *kfake.Cluster
	addr    string
	lock    *os.File // flock on dir, nil when in memory
}

// StartBroker starts a broker on 127.0.0.1:port (0 picks a free port, see
// Addr) that auto-creates topics with the given number of partitions
// (values below 1 mean 1).
//
// With a non-empty dir, topics, messages, committed offsets and consumer
// groups are persisted there with a sync per write and survive Close (or a
// crash) and a new StartBroker on the same dir. With an empty dir
// everything lives in memory, with no retention: fine for tests, not for a
// long-running dev stack.
func StartBroker(dir string, port int, partitions int) (*Broker, error) {
	if partitions < 1 {
		partitions = 1
	}
	opts := []kfake.Opt{
		kfake.Ports(port),
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(partitions),
	}
	b := &Broker{}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("localinfra: create broker dir: %w", err)
		}
		// kfake does not lock its data dir; two brokers writing one dir
		// would corrupt it, so a second "make up" fails clearly instead.
		lock, err := os.OpenFile(filepath.Join(dir, "localinfra.lock"), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, fmt.Errorf("localinfra: broker lock file: %w", err)
		}
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			lock.Close()
			return nil, fmt.Errorf("localinfra: broker data dir %s is in use by another broker: %w", dir, err)
		}
		b.lock = lock
		opts = append(opts, kfake.DataDir(dir), kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		b.unlock()
		return nil, fmt.Errorf("localinfra: start kfake broker on 127.0.0.1:%d (dir %q): %w", port, dir, err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) != 1 {
		c.Close()
		b.unlock()
		return nil, fmt.Errorf("localinfra: kfake broker listens on %v, want exactly one address", addrs)
	}
	b.cluster, b.addr = c, addrs[0]
	return b, nil
}

// Addr is the bootstrap address, "127.0.0.1:port".
func (b *Broker) Addr() string { return b.addr }

// Cluster exposes the kfake cluster for fault injection in tests, e.g.
// Cluster().ControlKey(int16(kmsg.Produce), ...) to fail produce requests.
func (b *Broker) Cluster() *kfake.Cluster { return b.cluster }

// Close stops the broker, flushing persisted state, and releases its dir.
func (b *Broker) Close() {
	b.cluster.Close()
	b.unlock()
}

func (b *Broker) unlock() {
	if b.lock != nil {
		_ = syscall.Flock(int(b.lock.Fd()), syscall.LOCK_UN)
		b.lock.Close()
		b.lock = nil
	}
}
