//===- runtime/Channel.cpp - Byte- and round-counting transport -----------===//
//
// The counting wrapper shared by every channel, and the typed word helpers.
// Words travel in the machine's byte order (both parties run the same
// little-endian build).
//
//===----------------------------------------------------------------------===//

#include "runtime/Channel.h"

using namespace mpc::rt;

std::string mpc::rt::roleName(int role) {
  return role == kDealerRole ? "dealer" : "party " + std::to_string(role);
}

llvm::StringRef mpc::rt::roleKey(int role) {
  return role == 0 ? "party0" : role == 1 ? "party1" : "dealer";
}

int mpc::rt::roleFromKey(llvm::StringRef key) {
  for (int r = 0; r <= kDealerRole; ++r)
    if (key == roleKey(r))
      return r;
  return -1;
}

Channel::~Channel() = default;

llvm::Error Channel::exchange(llvm::ArrayRef<uint8_t> out,
                              llvm::MutableArrayRef<uint8_t> in,
                              bool sameRound) {
  if (out.empty() && in.empty())
    return llvm::Error::success();
  if (llvm::Error e = doExchange(out, in))
    return e;
  bytesSent_ += out.size();
  bytesReceived_ += in.size();
  if (!sameRound)
    ++rounds_;
  return llvm::Error::success();
}

llvm::Expected<Channel::Moved>
Channel::transfer(llvm::ArrayRef<uint8_t> out,
                  llvm::MutableArrayRef<uint8_t> in, Clock::time_point) {
  if (llvm::Error e = doExchange(out, in))
    return e;
  return Moved{out.size(), in.size()};
}

llvm::Error mpc::rt::sendWords(Channel &ch, llvm::ArrayRef<uint64_t> words) {
  return ch.send(llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(words.data()), words.size() * 8));
}

llvm::Error mpc::rt::recvWords(Channel &ch,
                               llvm::MutableArrayRef<uint64_t> words) {
  return ch.recv(llvm::MutableArrayRef<uint8_t>(
      reinterpret_cast<uint8_t *>(words.data()), words.size() * 8));
}
