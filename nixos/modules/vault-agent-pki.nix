# One vault-agent instance per host renders every template of the host's
# certificate plan, writes the files with their owners and modes and restarts
# the units that read them when the content changes.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.homelab;
  plan = cfg.certPlan;
  host = cfg.host;
  agent = plan.agent;
  serviceName = lib.removeSuffix ".service";
  systemctl = "${config.systemd.package}/bin/systemctl";

  toAgentTemplate =
    t:
    {
      inherit (t) contents;
      destination = t.destination.path;
      perms = t.destination.mode;
      error_on_missing_key = true;
    }
    // lib.optionalAttrs (t.restartUnits != [ ]) {
      exec = {
        command = [
          systemctl
          "--no-block"
          "try-restart"
        ]
        ++ t.restartUnits;
        timeout = "30s";
      };
    };

  # vault-agent is Type=simple: it is "started" before the first render, so
  # consumers wait for their files instead of failing on the first boot.
  waitForFiles =
    unit: files:
    pkgs.writeShellScript "wait-for-${serviceName unit}-credentials" ''
      for ((i = 0; i < 80; i++)); do
        missing=0
        for f in ${lib.escapeShellArgs files}; do
          [ -s "$f" ] || missing=1
        done
        [ "$missing" = 0 ] && exit 0
        ${pkgs.coreutils}/bin/sleep 1
      done
      echo "${unit}: files from ${agent.unit} still missing: ${lib.concatStringsSep " " files}" >&2
      exit 1
    '';

  consumerUnits = lib.filterAttrs (_: files: files != [ ]) host.unitInputs;
in
{
  services.vault-agent.instances.${agent.instance} = {
    inherit (cfg.vaultAgent) package;
    # root: writeToFile chowns to kubernetes/etcd and the exec hooks call systemctl.
    user = "root";
    group = "root";
    settings = {
      vault = {
        inherit (plan.cluster.vault) address;
      }
      // lib.optionalAttrs (cfg.vaultAgent.caCertFile != null) {
        ca_cert = toString cfg.vaultAgent.caCertFile;
      };
      auto_auth.method = [
        {
          type = "approle";
          mount_path = plan.cluster.vault.approleMount;
          config = {
            role_id_file_path = agent.roleIdFile;
            secret_id_file_path = agent.secretIdFile;
            remove_secret_id_file_after_reading = false;
          };
        }
      ];
      template_config = {
        exit_on_retry_failure = false;
        static_secret_render_interval = "10m";
      };
      template = map toAgentTemplate host.templates;
    };
  };

  # The default package (HashiCorp Vault) is BSL-licensed, i.e. unfree in
  # nixpkgs. nixpkgs.config merges attribute sets without priorities, so a
  # host that needs more unfree packages must extend this predicate here.
  nixpkgs.config.allowUnfreePredicate =
    pkg:
    builtins.elem (lib.getName pkg) [
      "vault"
      "vault-bin"
    ];

  systemd.tmpfiles.rules = [
    "d ${agent.stateDir} 0700 root root -"
  ]
  ++ map (d: "d ${d.path} ${d.mode} ${d.owner} ${d.group} -") host.directories;

  systemd.services = {
    ${serviceName agent.unit} = {
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      # AppRole credentials are placed by hand (docs/hosts.md); until then the
      # agent is skipped instead of failing in a restart loop.
      unitConfig.ConditionPathExists = [
        agent.roleIdFile
        agent.secretIdFile
      ];
    };
  }
  // lib.mapAttrs' (
    unit: files:
    lib.nameValuePair (serviceName unit) {
      wants = [ agent.unit ];
      after = [ agent.unit ];
      serviceConfig.ExecStartPre = lib.mkBefore [ "+${waitForFiles unit files}" ];
    }
  ) consumerUnits;

  # Restart targets and consumers in the plan must be units this system runs.
  assertions = map (
    unit:
    let
      svc = config.systemd.services.${serviceName unit} or null;
    in
    {
      assertion =
        svc != null && (svc.script != "" || (svc.serviceConfig.ExecStart or null) != null);
      message = "certificate plan of ${host.name} names ${unit}, which this configuration does not run";
    }
  ) host.units;
}
