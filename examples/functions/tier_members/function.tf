output "a100_40_or_less" {
  # ["1A100.40S.22V", "1RTXPRO6000.30V", ...]: the types the workflow tries, in order
  value = provider::datacrunch::tier_members("A100_40_OR_LESS")
}
