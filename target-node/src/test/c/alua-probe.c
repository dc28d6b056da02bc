/*
 * alua-probe: asks a LUN for its target port groups through libiscsi, the initiator library
 * QEMU uses, as a multipath initiator's ALUA handler does.
 *
 *   alua-probe URL             prints each group of REPORT TARGET PORT GROUPS
 *   alua-probe URL SECONDS     prints them, then "waiting", then polls TEST UNIT READY until the
 *                              unit attention ASYMMETRIC ACCESS STATE CHANGED arrives (then
 *                              prints it and the groups again) or SECONDS pass (exit status 3)
 *   alua-probe URL SECONDS capacity
 *                              the same for CAPACITY DATA HAS CHANGED, then prints
 *                              "capacity BLOCKS" from READ CAPACITY(16) in the same session
 *
 * Output lines: "group TAG STATE port PORT" with STATE one of active/optimized,
 * active/non-optimized, standby, unavailable, transitioning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define ASYMMETRIC_ACCESS_STATE_CHANGED 0x2a06
#define CAPACITY_DATA_HAS_CHANGED 0x2a09

/* READ CAPACITY(16): the number of blocks, or -1. */
static long long read_capacity(struct iscsi_context *iscsi, int lun)
{
	struct scsi_task *task = iscsi_readcapacity16_sync(iscsi, lun);
	if (task == NULL || task->status != SCSI_STATUS_GOOD) {
		fprintf(stderr, "READ CAPACITY(16) failed: %s\n", iscsi_get_error(iscsi));
		return -1;
	}
	struct scsi_readcapacity16 *capacity = scsi_datain_unmarshall(task);
	long long blocks = capacity == NULL ? -1 : (long long) capacity->returned_lba + 1;
	scsi_free_scsi_task(task);
	return blocks;
}

static const char *state_name(int state)
{
	switch (state) {
	case 0x0: return "active/optimized";
	case 0x1: return "active/non-optimized";
	case 0x2: return "standby";
	case 0x3: return "unavailable";
	case 0xf: return "transitioning";
	default: return "unknown";
	}
}

/* TEST UNIT READY: 0 on GOOD, else the sense's ASC/ASCQ (or -1 on transport failure). */
static int test_unit_ready(struct iscsi_context *iscsi, int lun)
{
	unsigned char cdb[6] = { 0 };
	struct scsi_task *task = scsi_create_task(6, cdb, SCSI_XFER_NONE, 0);
	if (task == NULL || iscsi_scsi_command_sync(iscsi, lun, task, NULL) == NULL) {
		fprintf(stderr, "TEST UNIT READY failed: %s\n", iscsi_get_error(iscsi));
		return -1;
	}
	int result = task->status == SCSI_STATUS_GOOD ? 0
		: task->status == SCSI_STATUS_CHECK_CONDITION ? task->sense.ascq : -1;
	scsi_free_scsi_task(task);
	return result;
}

static int report_target_port_groups(struct iscsi_context *iscsi, int lun)
{
	unsigned char cdb[12] = { 0xa3, 0x0a };
	int allocation = 4096;
	cdb[6] = allocation >> 24; cdb[7] = allocation >> 16; cdb[8] = allocation >> 8; cdb[9] = allocation;
	struct scsi_task *task = scsi_create_task(12, cdb, SCSI_XFER_READ, allocation);
	if (task == NULL || iscsi_scsi_command_sync(iscsi, lun, task, NULL) == NULL
	    || task->status != SCSI_STATUS_GOOD) {
		fprintf(stderr, "REPORT TARGET PORT GROUPS failed: %s\n", iscsi_get_error(iscsi));
		return -1;
	}
	unsigned char *d = task->datain.data;
	int length = 4 + (d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3]);
	if (length > task->datain.size) {
		length = task->datain.size;
	}
	for (int at = 4; at + 8 <= length;) {
		int ports = d[at + 7];
		printf("group %d %s", d[at + 2] << 8 | d[at + 3], state_name(d[at] & 0x0f));
		for (int p = 0; p < ports && at + 8 + 4 * p + 4 <= length; p++) {
			unsigned char *port = d + at + 8 + 4 * p;
			printf(" port %d", port[2] << 8 | port[3]);
		}
		printf("\n");
		at += 8 + 4 * ports;
	}
	fflush(stdout);
	scsi_free_scsi_task(task);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 4 || (argc == 4 && strcmp(argv[3], "capacity") != 0)) {
		fprintf(stderr, "usage: %s iscsi://HOST[:PORT]/IQN/LUN [SECONDS [capacity]]\n", argv[0]);
		return 2;
	}
	struct iscsi_context *iscsi = iscsi_create_context("iqn.2026-11.io.raftlun:alua-probe");
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, argv[1]);
	if (url == NULL) {
		fprintf(stderr, "bad URL %s: %s\n", argv[1], iscsi_get_error(iscsi));
		return 2;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	if (iscsi_full_connect_sync(iscsi, url->portal, url->lun) != 0) {
		fprintf(stderr, "login to %s failed: %s\n", argv[1], iscsi_get_error(iscsi));
		return 1;
	}
	/* The unit attentions every new nexus starts with (power on, reset) are not what we wait for. */
	for (int i = 0; i < 10 && test_unit_ready(iscsi, url->lun) > 0; i++) {
	}
	if (report_target_port_groups(iscsi, url->lun) != 0) {
		return 1;
	}
	int status = 0;
	int awaited = argc == 4 ? CAPACITY_DATA_HAS_CHANGED : ASYMMETRIC_ACCESS_STATE_CHANGED;
	if (argc >= 3) {
		printf("waiting\n");
		fflush(stdout);
		time_t deadline = time(NULL) + atoi(argv[2]);
		status = 3;
		while (time(NULL) < deadline) {
			int sense = test_unit_ready(iscsi, url->lun);
			if (sense < 0) {
				status = 1;
				break;
			}
			if (sense == awaited && awaited == CAPACITY_DATA_HAS_CHANGED) {
				printf("unit attention: capacity data has changed\n");
				long long blocks = read_capacity(iscsi, url->lun);
				printf("capacity %lld\n", blocks);
				status = blocks > 0 ? 0 : 1;
				break;
			}
			if (sense == awaited) {
				printf("unit attention: asymmetric access state changed\n");
				status = report_target_port_groups(iscsi, url->lun) == 0 ? 0 : 1;
				break;
			}
			usleep(100 * 1000);
		}
		if (status == 3) {
			printf("no state change within %s s\n", argv[2]);
		}
	}
	iscsi_logout_sync(iscsi);
	iscsi_destroy_url(url);
	iscsi_destroy_context(iscsi);
	return status;
}
