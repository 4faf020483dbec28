# The least a token needs for `c42-keystore health` to grade every check:
#   vault policy write c42-health examples/monitoring/health-probe-policy.hcl
#   vault token create -policy=c42-health -orphan -period=768h   # renew it, e.g. from the timer's host
# Listing audit devices needs sudo on sys/audit (read alone is refused).
# Without any token the probe still runs: the audit check is then UNKNOWN.
path "sys/audit" {
  capabilities = ["read", "sudo"]
}

# Raft voters and failure tolerance (OpenBao also answers this without a token).
path "sys/storage/raft/autopilot/state" {
  capabilities = ["read"]
}
