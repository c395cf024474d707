/** What the other stacks need to know about the directory. */
export interface DirectoryReference {
  /** The directory id (`d-...`). */
  readonly directoryId: string;
  /** The fully qualified DNS name, e.g. `directory.amazon-ecs-gmsa-linux.com`. */
  readonly dnsName: string;
  /** The NetBIOS name, e.g. `DIRECTORY`. */
  readonly netbiosName: string;
  /** The domain controllers' IP addresses (the directory's DNS servers). */
  readonly dnsIpAddresses: string[];
}
