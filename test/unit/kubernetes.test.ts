// The manifests in docker/kubernetes, checked without a cluster: every YAML document is a kind we know,
// valid against the Kubernetes API schemas (kubernetes-models), with no field those schemas lack (a
// typo such as `periodSecond` is otherwise silently ignored, as the API server does without strict
// validation), and says what bootseq needs: probes on its health port, time for the ordered shutdown,
// `bootseq migrate` before `bootseq up`, the scrape annotations, the databases on a volume.

import fs from 'node:fs';
import path from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Service } from 'kubernetes-models/v1/Service';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO } from '../helpers/project.js';

const DIR = path.join(REPO, 'docker/kubernetes');

/** The kinds the manifests may use; any other fails the test rather than going unchecked. */
const KINDS = {
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
} as const;

interface Manifest {
  file: string;
  doc: Record<string, unknown>;
}

function manifests(): Manifest[] {
  const files = fs
    .readdirSync(DIR, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  return files.flatMap((file) =>
    parseAllDocuments(fs.readFileSync(path.join(DIR, file), 'utf8')).map((document) => {
      expect(document.errors, file).toEqual([]);
      return { file, doc: document.toJS() as Record<string, unknown> };
    }),
  );
}

/**
 * Validates `doc` with the model's schema, and returns the paths of fields the schema does not know.
 * The compiled validator reads every property its schema declares and enumerates the keys of maps
 * (labels, annotations), so a key it never touched is one the API does not have.
 */
function validate(doc: Record<string, unknown>): string[] {
  const kind = `${String(doc['apiVersion'])}/${String(doc['kind'])}`;
  const Model = KINDS[kind as keyof typeof KINDS] as (typeof KINDS)[keyof typeof KINDS] | undefined;
  if (!Model) throw new Error(`unknown apiVersion/kind ${kind}: add its kubernetes-models class to KINDS`);
  const touched = new Set<string>();
  const watch = (value: unknown, at: string): unknown =>
    value === null || typeof value !== 'object'
      ? value
      : new Proxy(value, {
          get(target, key, receiver) {
            if (typeof key === 'string' && Object.hasOwn(target, key)) touched.add(`${at}/${key}`);
            return watch(Reflect.get(target, key, receiver), `${at}/${String(key)}`);
          },
          ownKeys(target) {
            for (const key of Reflect.ownKeys(target))
              if (typeof key === 'string') touched.add(`${at}/${key}`);
            return Reflect.ownKeys(target);
          },
        });
  // The model's validate() runs the schema on `this`: on the watched document, not on a copy.
  Model.prototype.validate.call(watch(doc, '') as InstanceType<typeof Model>);
  const unknown: string[] = [];
  const walk = (value: unknown, at: string) => {
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if (!touched.has(`${at}/${key}`)) unknown.push(`${at}/${key}`);
      walk(child, `${at}/${key}`);
    }
  };
  walk(doc, '');
  return unknown;
}

const all = manifests();
const named = (kind: string, name: string) => {
  const found = all.find(
    (m) => m.doc['kind'] === kind && (m.doc['metadata'] as { name?: string } | undefined)?.name === name,
  );
  if (!found) throw new Error(`no ${kind} ${name} in docker/kubernetes`);
  return found.doc as { metadata: { name: string }; spec: Record<string, unknown> };
};

/** The port a probe targets, a named port resolved through the container's ports. */
function probeTarget(container: IContainer, probe: IProbe | undefined) {
  const get = probe?.httpGet;
  if (!get) return undefined;
  const port =
    typeof get.port === 'number'
      ? get.port
      : container.ports?.find((p) => p.name === get.port)?.containerPort;
  return { path: get.path, port };
}

function podOf(workload: { spec: Record<string, unknown> }) {
  const template = workload.spec['template'] as IPodTemplateSpec;
  return { metadata: template.metadata!, spec: template.spec! };
}

describe('docker/kubernetes', () => {
  test('every document is a known kind, valid against the API schemas, with no unknown field', () => {
    for (const { file, doc } of all) {
      expect((doc['metadata'] as { name?: unknown } | undefined)?.name, file).toEqual(expect.any(String));
      expect(validate(doc), file).toEqual([]);
    }
    // Listed, so that a new manifest comes with its own facts below rather than only a schema check.
    expect(all.map((m) => `${m.file}: ${String(m.doc['kind'])}`)).toEqual([
      'postgres/deployment.yaml: Deployment',
      'postgres/service.yaml: Service',
      'sqlite/services.yaml: Service',
      'sqlite/services.yaml: Service',
      'sqlite/statefulset.yaml: StatefulSet',
    ]);
  });

  test('the checker itself: a wrong type, an unknown field and an unknown kind are caught', () => {
    const statefulSet = structuredClone(named('StatefulSet', 'bootseq-demo'));
    const container = podOf(statefulSet).spec.containers[0]!;
    expect(validate(statefulSet)).toEqual([]);
    (container.readinessProbe as Record<string, unknown>)['periodSecond'] = 5;
    expect(validate(statefulSet)).toEqual(['/spec/template/spec/containers/0/readinessProbe/periodSecond']);
    (container.readinessProbe as Record<string, unknown>)['periodSeconds'] = '5';
    expect(() => validate(statefulSet)).toThrow(/periodSeconds must be integer/);
    expect(() => validate({ apiVersion: 'batch/v1', kind: 'Job' })).toThrow(/unknown apiVersion\/kind/);
  });

  for (const [kind, name] of [
    ['StatefulSet', 'bootseq-demo'],
    ['Deployment', 'bootseq-pg-app'],
  ] as const) {
    test(`${kind} ${name}: bootseq up under the image's tini, locked down, probes on the health port, shutdown time, scraped`, () => {
      const pod = podOf(named(kind, name));
      const [container, ...others] = pod.spec.containers;
      expect(others).toEqual([]);
      // `command` would replace the image's ENTRYPOINT (tini); `args` replaces only its CMD.
      expect(container!.command).toBeUndefined();
      expect(container!.args).toEqual(['bootseq', 'up']);
      expect(pod.spec.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
        fsGroup: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      for (const c of [...(pod.spec.initContainers ?? []), container!]) {
        expect(c.securityContext, c.name).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        // A read-only root: whatever bootseq writes (reports, socket, /tmp) is on a volume.
        const mounted = (c.volumeMounts ?? []).map((m) => m.mountPath);
        expect(mounted, c.name).toContain('/tmp');
        expect(
          mounted.some((m) => m === '/app/.demo' || m === '/app/.bootseq'),
          c.name,
        ).toBe(true);
      }
      expect(container!.env).toContainEqual({ name: 'HEALTH_LISTEN', value: '0.0.0.0:9090' });
      expect(probeTarget(container!, container!.readinessProbe)).toEqual({ path: '/readyz', port: 9090 });
      expect(probeTarget(container!, container!.livenessProbe)).toEqual({ path: '/livez', port: 9090 });
      expect(probeTarget(container!, container!.startupProbe)).toEqual({ path: '/livez', port: 9090 });
      // Generous: a restart re-runs the whole boot, so a minute without an answer before one.
      const liveness = container!.livenessProbe!;
      expect((liveness.periodSeconds ?? 10) * (liveness.failureThreshold ?? 3)).toBeGreaterThanOrEqual(60);
      // At least the demo's ordered shutdown: 2 processes × 10 s grace + 10 s replication_grace.
      expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
      expect(pod.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9090',
        'prometheus.io/path': '/metrics',
      });
    });
  }

  test("StatefulSet: the replica's credentials come from a Secret, never the manifest", () => {
    const container = podOf(named('StatefulSet', 'bootseq-demo')).spec.containers[0]!;
    for (const name of ['LITESTREAM_ACCESS_KEY_ID', 'LITESTREAM_SECRET_ACCESS_KEY']) {
      const variable = container.env?.find((e) => e.name === name);
      expect(variable?.value, name).toBeUndefined();
      expect(variable?.valueFrom?.secretKeyRef?.name, name).toBe('bootseq-demo-replica');
    }
  });

  test('StatefulSet: one pod, its databases on a claim from volumeClaimTemplates at /app/.demo', () => {
    const statefulSet = named('StatefulSet', 'bootseq-demo');
    expect(statefulSet.spec['replicas']).toBe(1);
    const claims = (statefulSet.spec['volumeClaimTemplates'] as { metadata: { name: string } }[]).map(
      (c) => c.metadata.name,
    );
    const mounts = podOf(statefulSet).spec.containers[0]!.volumeMounts ?? [];
    const data = mounts.find((m) => m.mountPath === '/app/.demo');
    expect(data && claims.includes(data.name), JSON.stringify(mounts)).toBe(true);
    // The governing Service exists and is headless.
    const headless = named('Service', String(statefulSet.spec['serviceName']));
    expect(headless.spec['clusterIP']).toBe('None');
    expect(named('Service', 'bootseq-demo').spec['ports']).toEqual([
      expect.objectContaining({ port: 3000, targetPort: 'http' }),
    ]);
  });

  test('Deployment: the init container runs bootseq migrate, both containers get DATABASE_URL from a Secret', () => {
    const pod = podOf(named('Deployment', 'bootseq-pg-app'));
    const [init, ...others] = pod.spec.initContainers ?? [];
    expect(others).toEqual([]);
    expect(init!.command).toBeUndefined();
    expect(init!.args).toEqual(['bootseq', 'migrate']);
    // Several pods: a preStop pause lets the Service forget this one before it stops, counted in the grace.
    const main = pod.spec.containers[0]!;
    expect(main.lifecycle?.preStop?.exec?.command).toEqual(['sleep', '5']);
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(5 + 40 + 10);
    for (const container of [init!, pod.spec.containers[0]!]) {
      const url = container.env?.find((e) => e.name === 'DATABASE_URL');
      expect(url?.value, container.name).toBeUndefined();
      expect(url?.valueFrom?.secretKeyRef, container.name).toEqual({
        name: 'bootseq-pg-app',
        key: 'DATABASE_URL',
      });
    }
  });
});
