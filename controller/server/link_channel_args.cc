#include "controller/server/link_channel_args.h"

#include "grpcpp/resource_quota.h"

namespace opsagent {

void AddLinkChannelArguments(grpc::ServerBuilder& builder) {
  // Links carry small messages: 4 KiB TLS frames instead of 16 KiB take
  // about 9 KiB off each held link (measured with 1,000 links,
  // docs/BENCHMARKS.md).
  builder.AddChannelArgument(GRPC_ARG_TSI_MAX_FRAME_SIZE, 4096);
  // Nothing else, for want of a setting that helps: each of these, added
  // alone, left opsctld's VmRSS with 1,000 links within the noise of two
  // runs of the same build (128.7 and 130.2 MiB; +1.3 to +4.2 MiB on
  // average, none lower), with `info --concurrency 1000` unchanged
  // (bench/link_memory.sh, 2026-12-08, docs/BENCHMARKS.md "Several
  // controllers at scale"): grpc.http2.bdp_probe 0, lookahead_bytes 8192,
  // write_buffer_size 8192, hpack_table_size.decoder 1024, max_frame_size
  // 4096; grpc.experimental.tcp_read_chunk_size 4096,
  // tcp_max_read_chunk_size 16384; a 96 MiB resource quota. What a link
  // holds is fixed size in gRPC 1.51 (the TLS endpoint's two 8 KiB staging
  // buffers, its OpenSSL BIO pair, the transport and the stream's arena):
  // none of it follows a channel argument. Settings kept in future go
  // under this guard, so that the bench's "before" stays the same.
#ifndef OPSAGENT_BENCH_LINK_BEFORE
#endif
#ifdef OPSAGENT_BENCH_LINK_ARG
  // One more setting, for bench/link_memory.sh, which builds opsctld once
  // per candidate with --per_file_copt on this file; never in a release.
#define OPSAGENT_STRINGIFY(x) #x
#define OPSAGENT_STRING(x) OPSAGENT_STRINGIFY(x)
  builder.AddChannelArgument(OPSAGENT_STRING(OPSAGENT_BENCH_LINK_ARG),
                             OPSAGENT_BENCH_LINK_VALUE);
#endif
#ifdef OPSAGENT_BENCH_LINK_QUOTA_MIB
  grpc::ResourceQuota quota("opsctld links");
  quota.Resize(size_t{OPSAGENT_BENCH_LINK_QUOTA_MIB} << 20);
  builder.SetResourceQuota(quota);
#endif
}

}  // namespace opsagent
