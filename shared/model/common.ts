// Shapes shared by every Docker object (../shared/reference, definitions
// ObjectVersion and the Meta fields). Field names stay Docker's.

export interface ObjectVersion {
  /** Raft index of the object's last write. */
  Index: number;
}

/** Fields every stored object carries. */
export interface ObjectMeta {
  ID: string;
  Version: ObjectVersion;
  /** RFC 3339 with nanoseconds, as Docker prints it. */
  CreatedAt: string;
  UpdatedAt: string;
}

export type Labels = Record<string, string>;
