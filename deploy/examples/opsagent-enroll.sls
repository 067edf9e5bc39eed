# Salt state: the opsagent package on a host that enrolls itself with
# opsctld (docs/DEPLOY.md, "Enrolling hosts"). The token and the team CA
# come from pillar (opsagent:enroll_token, opsagent:ca_certificate), one
# token per group of hosts:
#   opsctl enroll token create --roles reddit --environment production \
#     --names 'reddit-production-*' --uses 40 --ttl 168h
# Apply: salt 'reddit-production*' state.apply opsagent-enroll
opsagent:
  pkg.installed:
    - sources:
      - opsagent: salt://opsagent/opsagent_0.1.0_amd64.deb

/etc/opsagent/tls/enroll.token:
  file.managed:
    - contents_pillar: opsagent:enroll_token
    - mode: "0600"
    - user: root
    - require:
      - pkg: opsagent

/etc/opsagent/tls/ca.crt:
  file.managed:
    - contents_pillar: opsagent:ca_certificate
    - mode: "0644"
    - require:
      - pkg: opsagent

/etc/opsagent/agent.textproto:
  file.managed:
    - mode: "0640"
    - contents: |
        tls {
          certificate: "/etc/opsagent/tls/host.crt"
          private_key: "/etc/opsagent/tls/host.key"
          ca_certificate: "/etc/opsagent/tls/ca.crt"
        }
        hostname: "{{ grains['fqdn'] }}"
        controller { address: "opsctld.fleet.example.org:7443" name: "opsctld.fleet.example.org" }
        enrollment {
          address: "opsctld.fleet.example.org:7444"
          token_file: "/etc/opsagent/tls/enroll.token"
        }
        journal_path: "/var/lib/opsagent/journal.jsonl"
        authorization { roles: "oncall" operations: "*" }
    - require:
      - pkg: opsagent

opsagent-service:
  service.running:
    - name: opsagent
    - enable: True
    - watch:
      - file: /etc/opsagent/agent.textproto
