// GET /version and GET /info bodies. Pure builders: every input is passed in, so tests pin
// the shapes without touching the host.
//
// /info fills every field `docker info` prints. Where shoal has no such thing (containers
// counted by a Docker engine, storage drivers, plugins) the value is Docker's zero value
// rather than an invented one.

import type { LocalInfo } from './backend.js';
import type { SwarmInfo } from '../../shared/model/index.js';
import { API_VERSION, MIN_API_VERSION, VERSION } from '../../shared/version.js';
import type { HostFacts } from './host-facts.js';
import type { SystemInfo, SystemVersion } from './system-types.js';

/** What the binary knows about its own build; empty when unknown. */
export interface BuildInfo {
  gitCommit: string;
  /** RFC 3339, as Docker prints it. */
  buildTime: string;
}

// Go's GOARCH names for node's process.arch, since /version's Arch is the runtime's.
const GOARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export function goArch(nodeArch: string): string {
  return GOARCH[nodeArch] ?? nodeArch;
}

export function buildSystemVersion(local: LocalInfo, build: BuildInfo, runtime: { nodeVersion: string; arch: string }): SystemVersion {
  const arch = goArch(runtime.arch);
  const fields = {
    Version: VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: build.gitCommit,
    // The field names Go; the truthful equivalent is the JavaScript runtime (e.g. v24.1.0).
    GoVersion: runtime.nodeVersion,
    Os: local.os,
    Arch: arch,
    KernelVersion: local.kernelVersion,
    BuildTime: build.buildTime,
  };
  return {
    Platform: { Name: 'shoal' },
    Components: [
      {
        Name: 'Engine',
        Version: VERSION,
        // dockerd repeats the top-level facts here as strings; the CLI prints them from here.
        Details: {
          ApiVersion: API_VERSION,
          Arch: arch,
          BuildTime: build.buildTime,
          Experimental: 'false',
          GitCommit: build.gitCommit,
          GoVersion: fields.GoVersion,
          KernelVersion: local.kernelVersion,
          MinAPIVersion: MIN_API_VERSION,
          NodeVersion: runtime.nodeVersion,
          Os: local.os,
        },
      },
    ],
    ...fields,
  };
}

/**
 * The docker CLI skips the whole swarm section only for "inactive" and "locked": an empty
 * state would make it print a half-empty block, so "" is reported as "inactive".
 */
export function normalizeSwarmInfo(swarm: SwarmInfo): SwarmInfo {
  return swarm.LocalNodeState === '' ? { ...swarm, LocalNodeState: 'inactive' } : swarm;
}

/** The `Swarm` header of /_ping: `inactive`, `pending`, `error`, `locked`, `active/worker` or `active/manager`. */
export function swarmPingStatus(swarm: SwarmInfo): string {
  const state = swarm.LocalNodeState === '' ? 'inactive' : swarm.LocalNodeState;
  if (state !== 'active') return state;
  return swarm.ControlAvailable ? 'active/manager' : 'active/worker';
}

export interface InfoInputs {
  local: LocalInfo;
  swarm: SwarmInfo;
  host: HostFacts;
  now: Date;
  debug: boolean;
  openFds: number;
}

export function buildSystemInfo({ local, swarm, host, now, debug, openFds }: InfoInputs): SystemInfo {
  return {
    ID: local.id,
    Containers: 0,
    ContainersRunning: 0,
    ContainersPaused: 0,
    ContainersStopped: 0,
    Images: 0,
    Driver: '',
    DriverStatus: [],
    DockerRootDir: local.dataRoot,
    Plugins: { Volume: [], Network: [], Authorization: [], Log: [] },
    MemoryLimit: false,
    SwapLimit: false,
    CpuCfsPeriod: false,
    CpuCfsQuota: false,
    CPUShares: false,
    CPUSet: false,
    PidsLimit: false,
    OomKillDisable: false,
    IPv4Forwarding: false,
    Debug: debug,
    NFd: openFds,
    NGoroutines: 0,
    SystemTime: now.toISOString(),
    LoggingDriver: '',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: host.cgroupVersion,
    NEventsListener: 0,
    KernelVersion: local.kernelVersion,
    OperatingSystem: host.operatingSystem,
    OSVersion: host.osVersion,
    OSType: local.os,
    Architecture: local.arch,
    NCPU: local.ncpu,
    MemTotal: local.memTotal,
    // Docker's defaults: the CLI falls back to this address for `docker login`, and local
    // registries (127.0.0.0/8, ::1) are reachable over plain HTTP.
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: {
      InsecureRegistryCIDRs: ['::1/128', '127.0.0.0/8'],
      IndexConfigs: { 'docker.io': { Name: 'docker.io', Mirrors: [], Secure: true, Official: true } },
      Mirrors: [],
    },
    GenericResources: null,
    HttpProxy: host.httpProxy,
    HttpsProxy: host.httpsProxy,
    NoProxy: host.noProxy,
    Name: local.hostname,
    Labels: local.labels,
    ExperimentalBuild: false,
    ServerVersion: VERSION,
    // Workers run containers with runc (worker/executor/oci).
    Runtimes: { runc: { path: 'runc' } },
    DefaultRuntime: 'runc',
    Swarm: normalizeSwarmInfo(swarm),
    LiveRestoreEnabled: false,
    Isolation: '',
    InitBinary: '',
    ContainerdCommit: { ID: '' },
    RuncCommit: { ID: '' },
    InitCommit: { ID: '' },
    SecurityOptions: [],
    ProductLicense: '',
    DefaultAddressPools: [],
    CDISpecDirs: [],
    Warnings: [],
  };
}
