/**
 * The SQL Server engine versions the app accepts. A module of its own, free of aws-cdk-lib, so that `bin/` can
 * validate `DB_ENGINE_VERSION` before it loads the stacks.
 */

/**
 * SQL Server 2022, the newest major version RDS offers. The major version only: RDS picks a current minor version for
 * it, whereas a pinned minor fails with "Cannot find version" once RDS retires it.
 */
export const SQL_SERVER_DEFAULT_VERSION = '16.00';

/** What `engineVersion` accepts: a major version `NN.00`, or a full RDS version string `NN.00.NNNN.N.vN`. */
export const SQL_SERVER_VERSION_PATTERN = /^[1-9][0-9]\.00(?:\.[0-9]{1,5}\.[0-9]{1,3}\.v[0-9]{1,2})?$/;
