// podman's JSON, validated before use. Fields we do not read are ignored; fields we read are
// checked, so a podman that answers differently fails with a clear message, not an undefined.
// Fixtures captured from the lab (podman 5.4.2) live in test/fixtures/podman-5.4.2/.
// zod/mini (from the zod package): the same schemas as zod's, with functions instead of methods,
// so the bundle keeps only what these five use (about 20 KiB instead of zod's 444 KiB).
import * as z from 'zod/mini';

/** podman writes null (or leaves the field out) for an empty list or map. */
const orEmpty = <T extends z.ZodMiniType>(schema: T, empty: () => z.output<T>) => z.pipe(z.nullish(schema), z.transform((v) => v ?? empty()));
const labels = orEmpty(z.record(z.string(), z.string()), () => ({}));
const names = orEmpty(z.array(z.string()), () => []);

export const versionSchema = z.object({
  Client: z.object({ Version: z.string(), APIVersion: z.optional(z.string()) }),
  Server: z.optional(z.object({ Version: z.string() })),
});

export const infoSchema = z.object({
  host: z.object({
    arch: z.string(),
    kernel: z.string(),
    hostname: z.string(),
    cgroupVersion: z.string(),
    cgroupManager: z.string(),
    ociRuntime: z.object({ name: z.string(), path: z.optional(z.string()), version: z.optional(z.string()) }),
    security: z.object({ rootless: z.boolean() }),
  }),
  store: z.object({ graphRoot: z.string(), runRoot: z.string() }),
  version: z.object({ Version: z.string() }),
});

export const psEntrySchema = z.object({
  Id: z.string(),
  Names: names,
  Image: z.string(),
  ImageID: z.optional(z.string()),
  State: z.string(),
  Status: z.optional(z.string()),
  Created: z.optional(z.number()),
  StartedAt: z.optional(z.number()),
  Pid: z.optional(z.number()),
  Command: z.nullish(z.array(z.string())),
  Labels: labels,
  Pod: z.optional(z.string()),
  PodName: z.optional(z.string()),
});
export const psSchema = orEmpty(z.array(psEntrySchema), () => []);

export const inspectEntrySchema = z.object({
  Id: z.string(),
  Name: z.string(),
  Image: z.string(),
  ImageName: z.optional(z.string()),
  Created: z.optional(z.string()),
  State: z.object({
    Status: z.string(),
    Running: z.boolean(),
    Pid: z.number(),
    StartedAt: z.optional(z.string()),
    Checkpointed: z.optional(z.boolean()),
    CheckpointedAt: z.optional(z.string()),
    Restored: z.optional(z.boolean()),
    RestoredAt: z.optional(z.string()),
    CheckpointLog: z.optional(z.string()),
    RestoreLog: z.optional(z.string()),
  }),
  Config: z.object({
    Labels: labels,
    Cmd: z.nullish(z.array(z.string())),
    Entrypoint: z.nullish(z.union([z.string(), z.array(z.string())])),
    Env: z.nullish(z.array(z.string())),
  }),
  NetworkSettings: z.optional(
    z.object({ IPAddress: z.optional(z.string()), Networks: z.nullish(z.record(z.string(), z.object({ IPAddress: z.optional(z.string()) }))) }),
  ),
  Mounts: z.nullish(z.array(z.object({ Type: z.string(), Name: z.optional(z.string()), Source: z.optional(z.string()), Destination: z.string(), RW: z.optional(z.boolean()) }))),
  HostConfig: z.optional(
    z.object({
      /** "8080/tcp" → where the host publishes it. */
      PortBindings: z.nullish(z.record(z.string(), z.nullish(z.array(z.object({ HostIp: z.optional(z.string()), HostPort: z.optional(z.string()) }))))),
    }),
  ),
  StaticDir: z.optional(z.string()),
  /** The OCI runtime running it (runc, crun); podman restores its checkpoints with the same one. */
  OCIRuntime: z.optional(z.string()),
});
export const inspectSchema = z.array(inspectEntrySchema);

export const imageEntrySchema = z.object({
  Id: z.string(),
  Names: names,
  Size: z.optional(z.number()),
  Created: z.optional(z.number()),
});
export const imagesSchema = orEmpty(z.array(imageEntrySchema), () => []);

export type PodmanVersion = z.infer<typeof versionSchema>;
export type PodmanInfo = z.infer<typeof infoSchema>;
export type PsEntry = z.infer<typeof psEntrySchema>;
export type InspectEntry = z.infer<typeof inspectEntrySchema>;
export type ImageEntry = z.infer<typeof imageEntrySchema>;
