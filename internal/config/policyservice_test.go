package config

import (
	"strings"
	"testing"
	"time"
)

func TestPolicyServiceKeys(t *testing.T) {
	c, err := Parse("t.toml", []byte("[restrictions]\nrecipient = [\"check_policy_service inet:127.0.0.1:1\"]\n"+
		"policy_service_timeout = \"3s\"\npolicy_service_try_limit = 1\npolicy_service_default_action = \"DUNNO\"\n"+
		"policy_service_policy_context = \"mx\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Restrictions.PolicyService
	if p.PolicyServiceTimeout.D() != 3*time.Second || p.PolicyServiceTryLimit != 1 || p.PolicyServiceDefaultAction != "DUNNO" ||
		p.PolicyServicePolicyContext != "mx" || p.PolicyServiceMaxIdle.D() != 300*time.Second || p.PolicyServiceRetryDelay.D() != time.Second {
		t.Fatalf("got %+v", p)
	}
	for _, tc := range []struct{ in, want string }{
		{"policy_service_timeout = 0", "policy_service_timeout"},
		{"policy_service_try_limit = 0", "policy_service_try_limit"},
		{"policy_service_request_limit = -1", "policy_service_request_limit"},
		{"policy_service_default_action = \"\"", "policy_service_default_action"},
		{"policy_service_timout = \"1s\"", "unknown key"},
	} {
		_, err := Parse("t.toml", []byte("[restrictions]\n"+tc.in+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "t.toml:2") {
			t.Errorf("%s: got %v, want an error on line 2 naming %s", tc.in, err, tc.want)
		}
	}
}
