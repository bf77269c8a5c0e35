#include "core/transport/peer_stream.h"

#include <algorithm>
#include <utility>

namespace cairn::transport::grpc_internal {

StreamCall::StreamCall(std::shared_ptr<PeerStream> owner, const std::string& from_address)
    : owner_(std::move(owner)) {
  context.AddMetadata(kFromMetadata, from_address);
  handOff(this);
}

void StreamCall::OnWriteDone(bool ok) {
  takeOver(this);
  std::lock_guard op(op_mu);
  owner_->onWriteDone(this, ok);
}

void StreamCall::OnDone(const grpc::Status& status) {
  takeOver(this);
  { std::lock_guard op(op_mu); }  // orders this after the last operation started
  std::shared_ptr<PeerStream> owner = std::move(owner_);
  std::shared_ptr<StreamCall> keep = std::move(self);
  std::shared_ptr<Shared> shared = owner->shared_;
  owner->onCallDone(this, status);
  keep.reset();  // may destroy this reactor
  owner.reset();
  shared->pending.done();
}

PeerStream::PeerStream(uint64_t id, std::string address, std::shared_ptr<Connection> connection,
                       std::shared_ptr<Shared> shared)
    : id_(id),
      address_(std::move(address)),
      connection_(std::move(connection)),
      shared_(std::move(shared)),
      backoff_(shared_->options.min_stream_backoff) {}

void PeerStream::enqueue(std::vector<raft::Message>& messages) {
  std::shared_ptr<StreamCall> start;
  std::shared_ptr<StreamCall> write;
  uint64_t down = 0, full = 0, too_large = 0;
  std::vector<size_t> sizes;
  sizes.reserve(messages.size());
  for (const raft::Message& m : messages) sizes.push_back(m.ByteSizeLong());
  {
    std::lock_guard lock(mu_);
    if (closed_ || (!call_ && std::chrono::steady_clock::now() < retry_at_)) {
      down = messages.size();
    } else {
      for (size_t i = 0; i < messages.size(); ++i) {
        admitLocked(messages[i], sizes[i], full, too_large);
      }
      if (!call_ && !queue_.empty()) {
        call_ = std::make_shared<StreamCall>(shared_from_this(), shared_->stamp().from_address);
        call_->self = call_;
        claimWriteLocked(*call_);
        start = call_;
      } else if (call_ && !call_->writing && !queue_.empty()) {
        claimWriteLocked(*call_);
        write = call_;
      }
    }
  }
  messages.clear();
  shared_->counters.dropped_stream_down += down;
  shared_->counters.dropped_queue_full += full;
  shared_->counters.dropped_too_large += too_large;
  if (start) startCall(start);
  if (write) {
    std::lock_guard op(write->op_mu);
    write->StartWrite(&write->batch);
  }
}

void PeerStream::admitLocked(raft::Message& message, size_t size, uint64_t& full,
                             uint64_t& too_large) {
  const GrpcTransportOptions& options = shared_->options;
  // Leave room for the batch envelope within the gRPC message limit.
  if (size + 4096 > static_cast<size_t>(options.max_message_bytes)) {
    ++too_large;
    LOG_WARN(kLogComponent, "dropping a raft message of " << size << " bytes to peer " << id_
                                                          << " at " << address_
                                                          << ": above the message limit");
    return;
  }
  if (static_cast<size_t>(queue_.size()) >= options.max_queued_messages ||
      (!queue_.empty() && queued_bytes_ + size > options.max_queued_bytes)) {
    ++full;
    return;
  }
  queued_bytes_ += size;
  queue_.Add(std::move(message));
}

void PeerStream::claimWriteLocked(StreamCall& call) {
  Shared::Stamp stamp = shared_->stamp();
  call.batch.set_cluster_id(std::move(stamp.cluster_id));
  call.batch.set_from_address(std::move(stamp.from_address));
  call.batch.mutable_messages()->Swap(&queue_);
  queued_bytes_ = 0;
  call.writing = true;
  shared_->counters.messages_sent += call.batch.messages_size();
  ++shared_->counters.batches_sent;
}

void PeerStream::startCall(const std::shared_ptr<StreamCall>& call) {
  ++shared_->counters.streams_opened;
  shared_->pending.add();
  std::lock_guard op(call->op_mu);
  connection_->stub->async()->RaftStream(&call->context, &call->ack, call.get());
  call->AddHold();
  call->StartWrite(&call->batch);
  call->StartCall();
}

void PeerStream::onWriteDone(StreamCall* call, bool ok) {
  Queue written;  // destroyed outside the lock
  bool write_more = false;
  bool release = false;
  uint64_t dropped = 0;
  {
    std::lock_guard lock(mu_);
    call->writing = false;
    written.Swap(call->batch.mutable_messages());
    if (ok) {
      healthy_ = true;
      backoff_ = shared_->options.min_stream_backoff;
      if (!call->detached && !queue_.empty()) {
        claimWriteLocked(*call);
        write_more = true;
      }
    } else if (!call->detached) {
      dropped = breakLocked(*call);
    }
    release = takeHoldLocked(*call);
  }
  shared_->counters.dropped_stream_down += dropped;
  if (write_more) call->StartWrite(&call->batch);
  if (!ok) call->context.TryCancel();
  if (release) call->RemoveHold();
}

uint64_t PeerStream::breakLocked(StreamCall& call) {
  call.detached = true;
  call.broke = true;
  call.log_break = healthy_;
  healthy_ = false;
  if (call_.get() == &call) call_.reset();
  retry_at_ = std::chrono::steady_clock::now() + backoff_;
  backoff_ = std::min(backoff_ * 2, shared_->options.max_stream_backoff);
  return dropQueueLocked();
}

uint64_t PeerStream::dropQueueLocked() {
  const uint64_t n = queue_.size();
  queue_.Clear();
  queued_bytes_ = 0;
  return n;
}

bool PeerStream::takeHoldLocked(StreamCall& call) {
  if (!call.detached || call.writing || call.hold_released) return false;
  call.hold_released = true;
  return true;
}

void PeerStream::close() {
  std::shared_ptr<StreamCall> call;
  bool release = false;
  uint64_t dropped = 0;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    dropped = dropQueueLocked();
    call = std::move(call_);
    if (call) {
      call->detached = true;
      release = takeHoldLocked(*call);
    }
  }
  shared_->counters.dropped_stream_down += dropped;
  if (!call) return;
  std::lock_guard op(call->op_mu);
  call->context.TryCancel();
  if (release) call->RemoveHold();
}

void PeerStream::onCallDone(StreamCall* call, const grpc::Status& status) {
  bool broke = false;
  bool log_break = false;
  {
    std::lock_guard lock(mu_);
    if (call_.get() == call) call_.reset();
    broke = call->broke;
    log_break = call->log_break;
  }
  if (log_break) {
    LOG_INFO(kLogComponent,
             "raft stream to peer " << id_ << " at " << address_ << " broke: " << describe(status));
  } else if (broke) {
    LOG_DEBUG(kLogComponent, "raft stream to peer " << id_ << " at " << address_
                                                    << " failed again: " << describe(status));
  }
}

}  // namespace cairn::transport::grpc_internal
