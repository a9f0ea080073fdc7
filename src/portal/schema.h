/* SPDX-License-Identifier: Apache-2.0 */
#ifndef LF_PORTAL_SCHEMA_H
#define LF_PORTAL_SCHEMA_H

/* Migrations are numbered from 1; lf_schema_migration() returns its SQL. */
int lf_schema_count(void);
const char *lf_schema_migration(int version);

/* The advisory lock that orders writers of the change log on PostgreSQL. */
#define PG_CHANGES_LOCK "119187178088307" /* "lfmigr" + 1 */

#endif
