// The JSON shape of nixos/lib/cert-plan.nix's `plan` that the tests read. The inventory's shape
// is inventory/schema.ts's ClusterInventory: the tests read it through parseInventory.

export interface FileSpec {
  path: string;
  owner: string;
  group: string;
  mode: string;
}

export interface Certificate {
  id: string;
  kind: 'pki';
  component: string;
  mount: string;
  role: string;
  vaultPath: string;
  commonName: string;
  organization: string | null;
  dnsSans: string[];
  ipSans: string[];
  keyUsage: string[];
  extKeyUsage: string[];
  ttl: string;
  files: { cert: FileSpec; key: FileSpec };
  cache: FileSpec;
  consumers: string[];
  restartUnits: string[];
}

export interface Template {
  id: string;
  kind: 'pki' | 'ca' | 'kv';
  vaultPath: string;
  destination: FileSpec;
  outputs: FileSpec[];
  writes: string[];
  consumers: string[];
  restartUnits: string[];
  contents: string;
}

export interface HostPlan {
  name: string;
  fqdn: string;
  domain: string;
  ipv4: string;
  ipv6: string;
  interface: string;
  addresses: string[];
  components: string[];
  firewall: { tcp: number[]; udp: number[]; rules: { reason: string; tcp: number[]; sources: string[] }[] };
  units: string[];
  directories: FileSpec[];
  certificates: Record<string, Certificate>;
  caBundles: Record<string, { id: string; mount: string; vaultPath: string; file: FileSpec }>;
  secrets: Record<string, { id: string; vaultPath: string; files: { privateKey: FileSpec; publicKey: FileSpec } }>;
  templates: Template[];
  unitInputs: Record<string, string[]>;
  vault: { policyName: string; appRoleName: string; policy: string; appRoleCommand: string };
}

export interface VaultRole {
  mount: string;
  mountKey: string;
  name: string;
  organization: string | null;
  enforceHostnames: boolean;
  serverFlag: boolean;
  clientFlag: boolean;
  extKeyUsage: string[];
}

export interface Plan {
  cluster: {
    name: string;
    hostNames: string[];
    kubernetes: {
      clusterDomain: string;
      apiServiceIps: string[];
      apiServer: { host: string; port: number; url: string };
      dnsServiceIps: string[];
      nodeCidrMaskSizes: { ipv4: number; ipv6: number };
    };
    network: {
      prefixLengths: { ipv4: number; ipv6: number };
      gateways: { ipv4: string; ipv6: string };
      nameservers: string[];
    };
    ssh: { authorizedKeys: string[] };
    etcd: {
      members: { name: string; peerUrl: string; clientUrl: string }[];
      initialCluster: string[];
      clientUrls: string[];
      initialClusterToken: string;
    };
    ports: Record<string, number>;
    vault: { address: string; approleMount: string };
  };
  mounts: { kubernetes: string; etcd: string; frontProxy: string };
  agent: { instance: string; unit: string; roleIdFile: string; secretIdFile: string };
  caFiles: { kubernetes: string; etcd: string; frontProxy: string };
  unitUsers: Record<string, string>;
  vaultRoles: VaultRole[];
  vaultRoleCommands: string[];
  hosts: Record<string, HostPlan>;
}
