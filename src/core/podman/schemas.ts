// podman's JSON, validated before use. Fields we do not read are ignored; fields we read are
// checked, so a podman that answers differently fails with a clear message, not an undefined.
// Fixtures captured from the lab (podman 5.4.2) live in test/fixtures/podman-5.4.2/.
import { z } from 'zod';

const labels = z.record(z.string(), z.string()).nullish().transform((l) => l ?? {});

export const versionSchema = z.object({
  Client: z.object({ Version: z.string(), APIVersion: z.string().optional() }),
  Server: z.object({ Version: z.string() }).optional(),
});

export const infoSchema = z.object({
  host: z.object({
    arch: z.string(),
    kernel: z.string(),
    hostname: z.string(),
    cgroupVersion: z.string(),
    cgroupManager: z.string(),
    ociRuntime: z.object({ name: z.string(), path: z.string().optional(), version: z.string().optional() }),
    security: z.object({ rootless: z.boolean() }),
  }),
  store: z.object({ graphRoot: z.string(), runRoot: z.string() }),
  version: z.object({ Version: z.string() }),
});

export const psEntrySchema = z.object({
  Id: z.string(),
  Names: z.array(z.string()).nullish().transform((n) => n ?? []),
  Image: z.string(),
  ImageID: z.string().optional(),
  State: z.string(),
  Status: z.string().optional(),
  Created: z.number().optional(),
  StartedAt: z.number().optional(),
  Pid: z.number().optional(),
  Command: z.array(z.string()).nullish(),
  Labels: labels,
  Pod: z.string().optional(),
  PodName: z.string().optional(),
});
export const psSchema = z.array(psEntrySchema).nullable().transform((list) => list ?? []);

export const inspectEntrySchema = z.object({
  Id: z.string(),
  Name: z.string(),
  Image: z.string(),
  ImageName: z.string().optional(),
  Created: z.string().optional(),
  State: z.object({
    Status: z.string(),
    Running: z.boolean(),
    Pid: z.number(),
    StartedAt: z.string().optional(),
    Checkpointed: z.boolean().optional(),
    CheckpointedAt: z.string().optional(),
    Restored: z.boolean().optional(),
    RestoredAt: z.string().optional(),
    CheckpointLog: z.string().optional(),
    RestoreLog: z.string().optional(),
  }),
  Config: z.object({
    Labels: labels,
    Cmd: z.array(z.string()).nullish(),
    Entrypoint: z.union([z.string(), z.array(z.string())]).nullish(),
    Env: z.array(z.string()).nullish(),
  }),
  NetworkSettings: z
    .object({ IPAddress: z.string().optional(), Networks: z.record(z.string(), z.object({ IPAddress: z.string().optional() })).nullish() })
    .optional(),
  Mounts: z
    .array(z.object({ Type: z.string(), Name: z.string().optional(), Destination: z.string() }))
    .nullish(),
  HostConfig: z
    .object({
      /** "8080/tcp" → where the host publishes it. */
      PortBindings: z.record(z.string(), z.array(z.object({ HostIp: z.string().optional(), HostPort: z.string().optional() })).nullish()).nullish(),
    })
    .optional(),
  StaticDir: z.string().optional(),
  /** The OCI runtime running it (runc, crun); podman restores its checkpoints with the same one. */
  OCIRuntime: z.string().optional(),
});
export const inspectSchema = z.array(inspectEntrySchema);

export const imageEntrySchema = z.object({
  Id: z.string(),
  Names: z.array(z.string()).nullish().transform((n) => n ?? []),
  Size: z.number().optional(),
  Created: z.number().optional(),
});
export const imagesSchema = z.array(imageEntrySchema).nullable().transform((list) => list ?? []);

export type PodmanVersion = z.infer<typeof versionSchema>;
export type PodmanInfo = z.infer<typeof infoSchema>;
export type PsEntry = z.infer<typeof psEntrySchema>;
export type InspectEntry = z.infer<typeof inspectEntrySchema>;
export type ImageEntry = z.infer<typeof imageEntrySchema>;
