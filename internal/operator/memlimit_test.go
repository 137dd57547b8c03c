package operator

import (
	"testing"
	"testing/fstest"
)

func TestCgroupMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  int64
		fails bool
	}{
		{"v2 limited", map[string]string{"memory.max": "536870912\n"}, 512 << 20, false},
		{"v2 unlimited", map[string]string{"memory.max": "max\n"}, 0, false},
		{"v1 limited", map[string]string{"memory/memory.limit_in_bytes": "1073741824\n"}, 1 << 30, false},
		{"v1 unlimited", map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0, false},
		{"v2 wins over v1", map[string]string{"memory.max": "1048576", "memory/memory.limit_in_bytes": "2097152"}, 1 << 20, false},
		{"no cgroup", map[string]string{}, 0, false},
		{"garbage", map[string]string{"memory.max": "lots"}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, body := range tc.files {
				fsys[name] = &fstest.MapFile{Data: []byte(body)}
			}
			got, err := cgroupMemoryLimit(fsys)
			if (err != nil) != tc.fails || got != tc.want {
				t.Fatalf("cgroupMemoryLimit = %d, %v; want %d (error %v)", got, err, tc.want, tc.fails)
			}
		})
	}
}

func TestSoftLimit(t *testing.T) {
	gib := int64(1 << 30)
	for _, tc := range []struct {
		limit int64
		ratio float64
		want  int64
	}{
		// What the runtime does not manage is set aside before the ratio.
		{gib, 0.9, int64(float64(gib-nonGoReserve) * 0.9)},
		{1 << 30, 1, 1<<30 - nonGoReserve},
		{1 << 30, 2, 1<<30 - nonGoReserve},
		// A small container keeps a quarter of its limit for the heap.
		{64 << 20, 0.9, 16 << 20},
	} {
		if got := SoftLimit(tc.limit, tc.ratio); got != tc.want {
			t.Errorf("SoftLimit(%d, %v) = %d, want %d", tc.limit, tc.ratio, got, tc.want)
		}
	}
}
