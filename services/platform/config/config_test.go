package config

import "testing"

type svcConfig struct {
	Common
	PIIKey string `env:"PII_ENCRYPTION_KEY,required,notEmpty" secret:"true"`
	Extra  string `env:"EXTRA" envDefault:"x"`
}

func TestLoadAppliesDefaultsAndMaskHidesSecrets(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://u:hunter2@db/intake")
	t.Setenv("KAFKA_BROKERS", "a:9092,b:9092")
	t.Setenv("AUTH_TRUST_FILE", "/etc/counterdesk/trust.json")
	t.Setenv("SERVICE_KEY_FILE", "/etc/counterdesk/service.jwk")
	t.Setenv("PII_ENCRYPTION_KEY", "k")
	var c svcConfig
	if err := Load(&c); err != nil {
		t.Fatal(err)
	}
	if c.GRPCAddr != ":9090" || c.Extra != "x" || len(c.KafkaBrokers) != 2 {
		t.Fatalf("defaults not applied: %+v", c)
	}
	m := Masked(&c)
	for _, k := range []string{"DATABASE_URL", "PII_ENCRYPTION_KEY"} {
		if m[k] != "***" {
			t.Errorf("%s = %v, want masked", k, m[k])
		}
	}
	if m["AUTH_TRUST_FILE"] != "/etc/counterdesk/trust.json" || m["GRPC_REFLECTION"] != false {
		t.Errorf("trust file %v, reflection %v: want the path shown and reflection off by default", m["AUTH_TRUST_FILE"], m["GRPC_REFLECTION"])
	}
	if m["GRPC_ADDR"] != ":9090" {
		t.Errorf("GRPC_ADDR = %v", m["GRPC_ADDR"])
	}
}

func TestLoadNamesTheMissingVariable(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	var c svcConfig
	err := Load(&c)
	if err == nil {
		t.Fatal("want error for missing required variables")
	}
	for _, want := range []string{"DATABASE_URL", "PII_ENCRYPTION_KEY"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
