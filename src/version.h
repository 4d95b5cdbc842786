/* version.h - the version of this akosha, one place for every file that
 * writes it (the CLI, Parquet's created_by, the MCP server info). */
#ifndef AK_VERSION_H
#define AK_VERSION_H

#define AKOSHA_VERSION "0.1.0"

#endif
