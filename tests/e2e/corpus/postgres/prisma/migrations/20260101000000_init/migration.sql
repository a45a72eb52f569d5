-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "billing";

-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "citext";

-- CreateEnum
CREATE TYPE "public"."Role" AS ENUM ('ADMIN', 'MEMBER');

-- CreateEnum
CREATE TYPE "public"."Status" AS ENUM ('ACTIVE', 'BANNED', 'SUSPENDED');

-- CreateTable
CREATE TABLE "public"."User" (
    "id" SERIAL NOT NULL,
    "email" CITEXT NOT NULL,
    "nickname" TEXT NOT NULL DEFAULT 'a;b',
    "role" "public"."Role" NOT NULL DEFAULT 'MEMBER',
    "status" "public"."Status" NOT NULL DEFAULT 'ACTIVE',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "public"."User"("email");
